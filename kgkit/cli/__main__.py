from kgkit.cli.main import app

app(prog_name="kgkit")
