// Known answers copied from the reference vectors (tests/data/ixian-reference.json, section pow),
// computed by Ixian-Core's own SignerPowSolution code; see that file's header for provenance.
// Each entry: (vector id, challenge prefix hex, nonce hex, hash hex, difficulty raw).
pub(crate) const KNOWN_ANSWERS: [(&str, &str, &str, &str, &str); 2] = [
    (
        "pow-212",
        "fd7ace4c00a27ad8922f00e85993205303ba83f8637912ffceadd55a96803646bc14adf61f03e123b968728c8502bf7cb635674525d154663d9d31f995ff49ecafd975422901f03d1a9a97b2bb4f0cffc301270cbddd950dab8270f9a3a1aa0fe68b797ece6ec405d7d39dc9c6506d47b573041b9fe32618538fda7d211db5244a7d827c1f31820996427adc01b9130b4cd47c80f0dfe9f76765e43ab16631465cc31d246b8841d0885d637e48efc86623bc",
        "54312a1640248616ea75a278bd6a610bfcd14beb62e392324823cb046ac67ea6",
        "cc61efb4becdbb5fe1e01a877ddaa0aea9a52b8f11d694b19a1d99288e91c420d2c4b5e8fdaae34595e5b466016541f56cc7c93b7cb21a73edf1ed3ba3010000",
        "1024479473661978",
    ),
    (
        "pow-208",
        "fdcaf34600274edb5d01d1c41ab74b2bb04059809b8019c26f9f3db19fb47404bda32e0510ff2862c5e9465674753474ad311ba02efbec36fc722fd6a5abcc5565d51f255201f03d1a9a97b2bb4f0cffc301270cbddd950dab8270f9a3a1aa0fe68b797ece6ec405d7d39dc9c6506d47b573004700d58ec36cce63a0ed7b60c0a7eabb57febd44b2a77de4ba951fbfb9f27d72df3f7a5bceba1c67c609bab556a9b84824e04184c1964fcfde7554b28cbc01",
        "38949dec1beee17ebcc955709e3e8b1bf0398122a9d6e539e7144a6ac07cf0dd",
        "8568ba6cd11fd1e3e49eae485f797e1cc26ef91fd5624541d113d8ae39b9a39f6277f8810e27ba9a5832e0702776312461e94a4250ba1da636a70b489c000000",
        "2748226296683671",
    ),
];
