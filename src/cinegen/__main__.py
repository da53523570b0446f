from cinegen.cli import main

main()
