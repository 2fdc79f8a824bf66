"""The workflow's stages: I/O around the pure core (read caches and files, call, write).

Each Snakemake script is a few lines that call one function here; the single-image CLI reuses the
same model and method calls.
"""
