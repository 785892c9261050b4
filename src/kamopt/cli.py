"""kamopt command line (placeholder until the commands land)."""
import click


@click.group()
def main() -> None:
    """kamopt: pick and staff key accounts."""
