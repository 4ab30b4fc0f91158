"""A plain lock, for state that application threads and the client's background thread share outside Lambda.

Taking one starts nothing and waits only for the other holder (on Lambda there is no other): the delivery
modules stay free of threads, timers and atexit (tests/test_pipeline.py) and get their locks here.
"""

from _thread import allocate_lock as new_lock

__all__ = ["new_lock"]
