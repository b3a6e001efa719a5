"""The constants of gradstep's file format (docs/file-format.md), in a module
of their own that imports nothing, so that saving, models and callbacks all
read them without importing each other."""

FORMAT = "gradstep"
#: Version 2 writes ``model_config`` as ``{"class_name", "config"}`` (any
#: model kind); version 1 (a Sequential's config alone) is still read.
FORMAT_VERSION = "2"
READABLE_VERSIONS = ("1", "2")
EXTENSIONS = (".keras", ".gradstep", ".safetensors")
# A gradstep header is a few hundred bytes per layer; anything near this cap is
# not a gradstep file, and reading it whole would only waste memory.
MAX_HEADER_BYTES = 16 * 2**20
