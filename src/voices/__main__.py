from voices.cli import app

app(prog_name="voices")
