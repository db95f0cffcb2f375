"""kgkit.eval"""
