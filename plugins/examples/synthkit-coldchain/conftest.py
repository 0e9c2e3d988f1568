# Lets synthkit's own test run import this example without installing it; a real plugin
# repository would `pip install -e .` instead and needs no such file.
