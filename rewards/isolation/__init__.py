"""Killable worker processes for rewards: the pool (`pool`), its wire codecs (`wire`), the worker-side set-up every
worker script shares (`child`), and isolated plug-in rewards (`isolated`, with its worker script `worker`, run as a
file by the pool, never imported). docs/rewards.md says what isolation guarantees and what it costs."""
