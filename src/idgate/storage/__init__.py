"""Storage: small repository ports (`base`) and their one SQL implementation (`sql`)."""
