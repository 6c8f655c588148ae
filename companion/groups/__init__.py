"""Groups that meet again and again: members with personal links (store.py) and meetings as a sequence of
case rooms, with attendance and each member's role per meeting (meetings.py).

Domain only: the HTTP layer (companion/web_groups.py) imports this package, never the reverse.
"""
