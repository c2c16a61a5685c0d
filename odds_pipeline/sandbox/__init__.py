"""The stand-in for the three bookmakers: a synthetic world served over loopback HTTP."""
