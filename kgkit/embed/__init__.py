"""kgkit.embed"""
