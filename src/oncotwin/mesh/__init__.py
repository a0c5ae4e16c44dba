"""Geometry to tagged tetrahedral meshes: idealized shapes and segmented images, via gmsh."""
