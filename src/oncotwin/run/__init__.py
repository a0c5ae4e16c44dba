"""One run of a case: the pipeline, its time loop, checkpoints, run folder, manifest and progress."""
