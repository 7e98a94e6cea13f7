"""Key store management: master key and tenant data key rotation."""
