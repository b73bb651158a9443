"""One construct per concern of the Warden stack; `infra/stack.py` composes them."""
