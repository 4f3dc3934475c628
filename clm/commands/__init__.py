"""The command modules: one per noun. They parse options, call the domain layer and hand what
it returns to clm.render. May import the domain, clm.rules, clm.db (to open the database),
clm.render and the Env of clm.cli; at module level only typer and small constant modules."""
