"""One module per backend SDK. Only modules here import vendor SDKs."""
