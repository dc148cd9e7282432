from asp_telemetry.cli import main

main()
