"""What the assistant does when a neighbour (the action server) fails: see resilience/actions.py."""
