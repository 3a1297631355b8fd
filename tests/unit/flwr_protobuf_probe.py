"""Golden protobuf bytes from one Flower release's own generated classes.

Run by test_superlink_control_wire.py in an interpreter of its own per release
(releases pin different protobuf versions), never imported by pytest:

    python -S flwr_protobuf_probe.py SITE < spec.json > golden.json

SITE holds the release's flwr/ package, unpacked from its wheel, and the
protobuf its image pins. The spec names messages by Control API method and
side (request or response) with their content as protobuf JSON, or as bytes
(hex) to parse; the answer gives each one's serialized bytes (hex), its
content as the release reads it (JSON, and which fields are set), the fields
its type declares, and the services and methods of the release's generated code.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path
from typing import Any

SITE = Path(sys.argv[1])
sys.path.insert(0, str(SITE))
# flwr/__init__.py imports the whole framework (numpy, grpc, ...). Only the
# generated modules are wanted: the package is an empty shell over its files.
_flwr = types.ModuleType("flwr")
_flwr.__path__ = [str(SITE / "flwr")]
sys.modules["flwr"] = _flwr

import google.protobuf  # noqa: E402  (from SITE: the release's pinned version)
from google.protobuf import json_format  # noqa: E402
from google.protobuf.descriptor import FieldDescriptor  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

F = FieldDescriptor
# A non-default value of every scalar type: a sample message carries every
# wire type, and the longest varints (a negative int64 takes ten bytes).
SAMPLES: dict[int, object] = {
    F.TYPE_DOUBLE: 1.5,
    F.TYPE_FLOAT: 0.5,
    F.TYPE_INT64: -2,
    F.TYPE_UINT64: 2**64 - 1,
    F.TYPE_INT32: -3,
    F.TYPE_FIXED64: 2**64 - 1,
    F.TYPE_FIXED32: 2**32 - 1,
    F.TYPE_BOOL: True,
    F.TYPE_UINT32: 2**32 - 1,
    F.TYPE_SFIXED32: -4,
    F.TYPE_SFIXED64: -5,
    F.TYPE_SINT32: -6,
    F.TYPE_SINT64: -7,
}


TYPE_NAMES = {getattr(F, name): name[len("TYPE_") :].lower() for name in dir(F) if name.startswith("TYPE_")}


def repeated(field: FieldDescriptor) -> bool:
    # protobuf 6 deprecates label; 4 has only label.
    return field.is_repeated if hasattr(F, "is_repeated") else field.label == F.LABEL_REPEATED


def presence(field: FieldDescriptor) -> bool:
    """Whether HasField answers for the field: a proto3 `optional` scalar
    (its own synthetic oneof), a oneof member or a message, never a list."""
    return not repeated(field) and (field.message_type is not None or field.containing_oneof is not None)


def declared(field: FieldDescriptor) -> dict[str, Any]:
    """A field as the release's type declares it."""
    oneof = field.containing_oneof
    return {
        "number": field.number,
        "name": field.name,
        "type": TYPE_NAMES[field.type],
        "repeated": repeated(field),
        # proto3 `optional x` is a oneof of its own named _x.
        "optional": oneof is not None and oneof.name == f"_{field.name}" and len(oneof.fields) == 1,
    }


def classes() -> tuple[dict[str, type[Message]], dict[str, dict[str, list[str]]]]:
    """Every message class and service of the release's generated code, by full name."""
    messages: dict[str, type[Message]] = {}
    services: dict[str, dict[str, list[str]]] = {}
    for path in sorted((SITE / "flwr" / "proto").glob("*_pb2.py")):
        module = importlib.import_module(f"flwr.proto.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Message) and value is not Message:
                messages[value.DESCRIPTOR.full_name] = value
        for service in module.DESCRIPTOR.services_by_name.values():
            services[service.full_name] = {
                m.name: [m.input_type.full_name, m.output_type.full_name] for m in service.methods
            }
    return messages, services


def fill(message: Message, depth: int = 0) -> None:
    """Give every unset field of a message, and of its sub-messages, a value.

    Lists and maps keep the entries the case gave (the case says how many runs
    or nodes there are); each entry is filled. What the case set is kept.
    """
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and message.WhichOneof(oneof.name) not in (None, field.name):
            continue
        value = getattr(message, field.name)
        if repeated(field):
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                entry_value = field.message_type.fields_by_name["value"]
                if entry_value.message_type is not None:
                    for item in value.values():
                        fill(item, depth + 1)
            elif field.message_type is not None:
                for item in value:
                    fill(item, depth + 1)
            continue
        if field.message_type is not None:
            if depth < 3:
                fill(value, depth + 1)
        elif value:
            continue
        elif field.type == F.TYPE_STRING:
            setattr(message, field.name, f"{field.name}-sample")
        elif field.type == F.TYPE_BYTES:
            setattr(message, field.name, b"\x00sample\xff")
        elif field.type == F.TYPE_ENUM:
            setattr(message, field.name, field.enum_type.values[-1].number)
        elif field.type in SAMPLES:
            setattr(message, field.name, SAMPLES[field.type])


def main() -> None:
    spec = json.load(sys.stdin)
    messages, services = classes()
    control = sorted(name for name, methods in services.items() if "ListRuns" in methods)
    out: dict[str, Any] = {
        "protobuf": google.protobuf.__version__,
        "services": services,
        "control_services": control,
        "messages": {},
    }
    for case_id, case in spec["messages"].items():
        methods = services.get(case["service"], {})
        if case["method"] not in methods:
            out["messages"][case_id] = {"absent": f"{case['service']} has no method {case['method']}"}
            continue
        type_name = methods[case["method"]][0 if case["side"] == "request" else 1]
        message = messages[type_name]()
        if "hex" in case:  # bytes someone else made, read by the release
            message.ParseFromString(bytes.fromhex(case["hex"]))
        else:  # a field the release does not have is left out when the case says so
            json_format.ParseDict(case["json"], message, ignore_unknown_fields=case.get("ignore_unknown", False))
        if case.get("fill"):
            fill(message)
        out["messages"][case_id] = {
            "type": type_name,
            "hex": message.SerializeToString(deterministic=True).hex(),
            "json": json_format.MessageToDict(message, preserving_proto_field_name=True),
            "fields": [declared(field) for field in message.DESCRIPTOR.fields],
            # HasField of every field that tracks presence (proto3 optional, messages).
            "has": {f.name: message.HasField(f.name) for f in message.DESCRIPTOR.fields if presence(f)},
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
