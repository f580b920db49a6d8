"""Processing a kept message: the steps (`steps.py`) in the order `pipeline.py` names."""
from intake.messages import Message
from intake.outbox.channels import Channels
from intake.pipeline.pipeline import Pipeline
from intake.pipeline.run import Run, Stop, World

__all__ = ["Channels", "Message", "Pipeline", "Run", "Stop", "World"]
