"""kgkit.llm"""
