from qhil.cli import main

main()
