from .collect_env import main

main()
