from idgate.cli import main

main()
