"""Custom Rasa GraphComponents. Each module registers one component with DefaultV1Recipe."""
