"""Model monitoring: reference profiles, sampled data capture, drift detection, feedback."""
