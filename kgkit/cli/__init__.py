"""kgkit.cli"""
