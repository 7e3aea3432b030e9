"""Model loading: the embedded SmolLM2 model and lm-eval's model types."""
