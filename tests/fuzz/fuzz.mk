# Fuzzing targets (included by the top-level Makefile).
.PHONY: fuzz fuzz-smoke
fuzz:
	@echo "fuzz: not set up yet"
fuzz-smoke:
	@true
