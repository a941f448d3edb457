"""The law, pure: limitation rules, waivers, tolling, alerts and their explanations.

Nothing here reads a file, a database, the network or the clock: `today` is always passed in.
"""
