"""Tasks over the one forward pass: each reads like a pipeline — preprocess, forward, postprocess."""
