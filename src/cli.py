def main() -> None:
    raise SystemExit("classledger: CLI not wired yet")
