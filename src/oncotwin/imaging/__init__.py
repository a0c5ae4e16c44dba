"""Medical images in: NIfTI and NRRD label maps, masks and probability maps with their affines.

Below the case and mesh layers, so that the case reader (observation files) and the mesher share one reader.
"""
