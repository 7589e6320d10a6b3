"""Real local OpenStack clouds (Keystone v3 + Glance v2 from PyPI) on 127.0.0.1.

Used by ``glint sandbox`` so a newcomer sees a working matrix at once, and by the test
suite as its bed, so tests run against the same real services an operator uses.
"""
