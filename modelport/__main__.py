"""``python -m modelport``"""

from modelport.cli import main

main()
