"""kgkit.fuse"""
