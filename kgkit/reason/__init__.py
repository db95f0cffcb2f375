"""kgkit.reason"""
