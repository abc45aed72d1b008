from namecase.cli import main

main()
