"""Masked-LM training: blocks → masking → the Keras loop with metrics; fine-tuning a copy and running it as a job."""
