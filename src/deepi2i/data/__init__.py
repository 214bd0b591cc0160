"""Data: class-folder datasets with a persistent split, image decoding, the Shapes benchmark, and
preparation of Animal Faces / NABirds / UECFood-256 / cat2dog from files the user already has.
"""

from deepi2i.data.folder import ClassFolderDataset
from deepi2i.data.images import ImageLoadError, load_image, load_image_uint8, open_rgb
from deepi2i.data.manifest import (
    MANIFEST_NAME,
    ManifestMismatchError,
    SkippedFilesWarning,
    build_manifest,
    load_or_create_manifest,
    read_manifest,
)
from deepi2i.data.prepare import (
    PrepareReport,
    prepare_animalfaces,
    prepare_cat2dog,
    prepare_nabirds,
    prepare_uecfood256,
)
from deepi2i.data.shapes import (
    SHAPE_NAMES,
    Pose,
    ShapeParams,
    Style,
    mask_centroid,
    render,
    render_array,
    shape_coverage,
    shape_mask,
)
from deepi2i.data.shapes_benchmark import (
    DOMAINS,
    SHAPES_MANIFEST_NAME,
    SOURCE,
    TARGET,
    ShapesDomain,
    image_params,
    make_shapes,
    read_shapes_manifest,
)

__all__ = [
    "DOMAINS",
    "MANIFEST_NAME",
    "SHAPES_MANIFEST_NAME",
    "SHAPE_NAMES",
    "SOURCE",
    "TARGET",
    "ClassFolderDataset",
    "ImageLoadError",
    "ManifestMismatchError",
    "Pose",
    "PrepareReport",
    "ShapeParams",
    "ShapesDomain",
    "SkippedFilesWarning",
    "Style",
    "build_manifest",
    "image_params",
    "load_image",
    "load_image_uint8",
    "load_or_create_manifest",
    "make_shapes",
    "mask_centroid",
    "open_rgb",
    "prepare_animalfaces",
    "prepare_cat2dog",
    "prepare_nabirds",
    "prepare_uecfood256",
    "read_manifest",
    "read_shapes_manifest",
    "render",
    "render_array",
    "shape_coverage",
    "shape_mask",
]
