"""The command modules: one per noun. They parse options, call the domain layer and render."""
