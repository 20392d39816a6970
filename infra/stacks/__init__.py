"""Stacks composing the constructs of ``infra.constructs``."""

from infra.stacks.inference_stack import InferenceStack

__all__ = ["InferenceStack"]
