"""tinyapp: the smallest Flower app that makes a SuperLink store a run."""
