"""The generative layer: LLM backends, grounded tasks, guardrails, the generation worker.

No Qt; see ``backend`` for the interface every generator implements.
"""
