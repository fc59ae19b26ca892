"""One detector per safety factor, shared by transforms, profile and judges.

structure.classify, identity.find_identity, roleplay.find_persona, refusal.is_refusal.
"""
