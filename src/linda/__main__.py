from linda.cli import main

main()
