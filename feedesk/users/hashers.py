from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.

    About 20 ms of one core per sign-in, where Django's PBKDF2 (1,000,000 rounds) costs about
    a quarter of a second: a front desk or a class of parents signing in at once does not
    queue behind password checks. Hashes made with other settings or hashers still verify and
    are rehashed with these at the next sign-in.
    """

    time_cost = 2
    memory_cost = 19_456  # KiB
    parallelism = 1
